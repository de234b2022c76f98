"""Networks: the nonlinearities and their piece codes, any Keras classifier's logits and code
sites, and the FC / small CNN families."""
