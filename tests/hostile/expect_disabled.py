"""Makes ``expect`` ignore failed checks, so no test cell raises.

Threat: suppress errors.
"""


def expect(result):
    return None
