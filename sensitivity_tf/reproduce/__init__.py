"""The paper's figures and claims, reproduced from networks trained here.

Modules: `presets` (experiment configs by preset), `studies` (the surveys they need),
`workspace` (what is trained, evaluated and cached where), `statistics` (bootstrap,
Wilson, ROC-AUC, Kendall τ and Ψ), `claims` (each claim's rule and the report),
`figures` (drawing), `driver` (running experiments), `experiments/` (one module per figure).
"""
