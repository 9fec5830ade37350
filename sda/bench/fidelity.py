"""Reconstruction fidelity for the benchmark: the scores themselves live in `sda.audio.scores`."""

from sda.audio.scores import attack_db, fidelity, inversion_scores, lsd_db, mel_l1_db, mrstft, onsets

__all__ = ["attack_db", "fidelity", "inversion_scores", "lsd_db", "mel_l1_db", "mrstft", "onsets"]
