"""The TF-IDF index over passages and sentences, BM25 over articles (index)."""
