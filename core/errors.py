"""What a person did wrong, as one type: every refusal the engine explains to a user is a `UserError`, so the CLI and
the pages catch one class instead of listing each stage's own. Its message says what was refused, why, and the fix."""
from __future__ import annotations


class UserError(ValueError):
    """Bad input from a person (a setting, a file, a model, a run id); never a bug in the engine."""
