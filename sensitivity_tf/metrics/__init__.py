"""The two sensitivity metrics (Jacobian norm, transitions), the trajectories and
region slices they are measured along, and the evaluation of one network with all of them."""
