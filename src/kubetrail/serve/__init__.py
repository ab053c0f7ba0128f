"""`kubetrail serve`: the spool, the drain into the store, configuration and the process."""
