"""Training and adapting Spotter's appearance model: labelled sets (Market-1501 layout, or pseudo-
identities from a library's own tracks), the training job (model card, evaluation) and re-embedding
a library with a new model."""
