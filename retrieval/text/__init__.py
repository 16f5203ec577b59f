"""Arabic text: normalization and analysis (arabic, isri), sentences, related words (lexicon, wordnet)."""
