"""Image quality of synthetic patches (results/metrics/image_quality.tsv), one module per job:

- ``table``: the table's sets, spaces, columns and settings (torch-free: rules, report, figures);
- ``keys``: the array names of the quality jobs' .npz files;
- ``features``: the feature extractors (classifier embedding, Inception, block-mean pixels), and
  ``extractors`` choosing them for one job;
- ``neighbours``: blockwise distances, nearest neighbours and k-NN radii;
- ``metrics``: each distribution metric once, weighted (a row's value is the unit-weight call);
- ``copies``: near copies calibrated on held-out train;
- ``assess``: one candidate set's rows against the real-train reference;
- ``intervals``: the patient-level bootstrap intervals, from the same metric functions.
"""
