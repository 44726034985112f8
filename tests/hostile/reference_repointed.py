"""Points ``resnet_ref.BasicBlock`` at the learner's own class, so that the checks compare the
learner's block with itself.

Threat: re-point what the checks compare against.
"""

import resnet_ref

resnet_ref.BasicBlock = BasicBlock  # noqa: F821 (the learner's class, defined above)
