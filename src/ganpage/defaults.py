"""Product constants: the model ganpage uses when none is named and the size of the demo."""

DEFAULT_MODEL = "emoji32"
# The hand-curated sites showed their ~60 best categories; the demo shows the 100 that the
# model draws best by its shipped classifier scores (all of them if it ships none).
DEMO_CATEGORIES = 100
