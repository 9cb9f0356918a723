"""People: the directory kept in step with the config, CSV import, and the identity listing."""
