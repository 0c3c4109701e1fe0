raise RuntimeError("the module refuses to load")
