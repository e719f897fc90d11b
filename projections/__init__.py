"""Pure folds from rollout items to views, and the workers that keep the index true."""
