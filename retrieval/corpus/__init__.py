"""The corpus: article files read (articles), chunked (chunking), stored in SQLite (store), uploads checked (upload)."""
