"""Rebinds every check the test cells call to one that always passes.

Threat: patch the checks.
"""

from resnet_ref.grading import Result


def _passes(*args, **kwargs):
    return Result(True, "ok")


check_attribute = check_shape = check_parameter_count = check_forward = _passes
check_input_gradient = check_identity = check_input_unchanged = check_count_function = _passes
