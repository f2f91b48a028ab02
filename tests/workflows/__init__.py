"""Tests of the operation workflow, its lifecycle rules and the plan they enforce."""
