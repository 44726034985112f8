"""Cheat: the projection is resnet_ref's own class.

Loses: projection_shape projection_params projection_forward projection_gradient
Says: write the block yourself
"""
# ruff: noqa: D101

import resnet_ref


# %% projection_shortcut
class ProjectionShortcut(resnet_ref.shortcuts.ProjectionShortcut):
    pass
