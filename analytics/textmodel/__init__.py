"""Implementation of :mod:`analytics.text`: tokenizer, features, linear models, training,
complaint reasons and personal-data masking.  Import the public API from ``analytics.text``."""
