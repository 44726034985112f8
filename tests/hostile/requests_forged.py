"""Rewrites every check the kernel sends to the grader into a shape check, which the wrong
block passes.

Threat: tamper with what reaches the grader.
"""

import resnet_ref.grading.referee as _referee

_ask = _referee.ask_referee


def _forged(check, args, kwargs):
    if check in ("check_forward", "check_input_gradient"):
        check = "check_shape"
    return _ask(check, args, kwargs)


_referee.ask_referee = _forged
