module ModelDsl.Placeholder
