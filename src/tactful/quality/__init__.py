"""Decision quality: a labelled suite of customer turns and the measures of what the engine decided
for them (``tactful eval decisions``; docs/decision-quality.md)."""
