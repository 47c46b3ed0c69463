"""Full-text search over every card a person may see, archived ones included (issue #16)."""
