"""The server's state, without any web framework: settings and limits, workspaces, ingest,
trainings and their queue, the Play stores (models, history, presets), loaded generators."""
