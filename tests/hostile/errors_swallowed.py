"""Installs an IPython handler that swallows every exception, so a failing test cell shows no
error.

Threat: suppress or rewrite errors and tracebacks.
"""

get_ipython().set_custom_exc((Exception,), lambda shell, etype, value, tb, tb_offset=None: None)  # noqa: F821
