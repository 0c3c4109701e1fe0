"""Workflow: the lower driver, the step-verification loop, staging, whole-tree checks,
batch and prompt rendering. With the CLI, the only place that ties the stages together."""
