"""BigModel Lab engine: data, models, training, explanations and run bundles; no UI code."""
