"""The standing fuzz and fault suite: hostile inputs to every reader, bounded in time and memory."""
