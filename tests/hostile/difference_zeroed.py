"""Patches the checks' comparison so that every output agrees with the reference's.

Threat: patch the checks (their comparison).
"""

import resnet_ref.grading.checks
import resnet_ref.grading.mistakes

resnet_ref.grading.checks._difference = lambda got, expected: 0.0
resnet_ref.grading.mistakes._difference = lambda got, expected: 0.0
