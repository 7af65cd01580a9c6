"""Curation of a gallery (``ganpage curate``): score every picture once, flag what a visitor
must not see, and let rules approve or reject.

``quality`` (blank, flat, framed), ``duplicates`` (perceptual hashes, within and across
categories), ``memorisation`` (nearest training picture, threshold from the training set),
``agreement`` (the classifier's probability and rank of the picture's own category),
``scoring`` (which pictures still need scores, in batches, resumable), ``rules`` (what to keep),
``report`` (one self-contained HTML page).
"""
