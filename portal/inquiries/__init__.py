"""The inquiries kind (问题解答): a citizen's question as a work order across departments."""
