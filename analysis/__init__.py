"""Analysis stages: each reads what the stage before it stored and writes its own tables."""
