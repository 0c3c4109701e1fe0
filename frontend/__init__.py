"""Front end: load a model file under limits and trace it into the graph the IR lifts."""
