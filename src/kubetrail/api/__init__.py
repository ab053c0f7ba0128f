"""HTTP shells of kubetrail: the receivers and the read API of `kubetrail serve`."""
