"""From a question to ranked sentences: candidates (rank), features, and the fitted models (model, model.json)."""
