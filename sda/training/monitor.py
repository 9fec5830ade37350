"""Warnings that mean something: overfitting and posterior collapse.

Overfitting is reported only when all of these hold: the KL warm-up is over
(before that the loss mix changes every epoch), the validation loss is more
than 20 % above the training loss, and the validation loss has not reached a
new best for ``patience`` epochs. A gap alone is no sign of trouble while the
validation loss still falls: training loss includes augmentation and dropout,
validation does not, and the two measure different files.

Posterior collapse is reported when the KL divergence (nats per latent frame)
falls below 0.5: the decoder has stopped using the latent.

Each warning is repeated at most every ``repeat_every`` epochs while its
condition lasts, so a console is not flooded.
"""

from __future__ import annotations

from sda.training.metrics import EpochMetrics, WarningEvent

OVERFITTING_GAP = 0.2
COLLAPSE_KL = 0.5


class TrainingMonitor:
    def __init__(self, patience: int = 3, repeat_every: int = 10) -> None:
        self.patience = patience
        self.repeat_every = repeat_every
        self.best_val = float("inf")
        self.epochs_since_best = 0
        self.last_warned: dict[str, int] = {}

    def check(self, metrics: EpochMetrics, warmup_over: bool) -> list[WarningEvent]:
        """Warnings for this epoch (possibly none)."""
        if metrics.val_loss < self.best_val:
            self.best_val = metrics.val_loss
            self.epochs_since_best = 0
        else:
            self.epochs_since_best += 1
        found = []
        if warmup_over and metrics.overfitting_gap > OVERFITTING_GAP and self.epochs_since_best >= self.patience:
            found.append(("overfitting", (
                f"Epoch {metrics.epoch}: possible overfitting. Validation loss is {metrics.overfitting_gap:.0%} above "
                f"training loss and has not improved for {self.epochs_since_best} epochs. Listen to the previews; "
                "the best checkpoint so far is kept."
            )))
        if metrics.kl_divergence < COLLAPSE_KL:
            found.append(("posterior_collapse", (
                f"Epoch {metrics.epoch}: KL divergence is {metrics.kl_divergence:.2f} (below {COLLAPSE_KL}): "
                "the model is ignoring its latent space, so generated sounds may all be alike."
            )))
        if metrics.skipped_steps:
            found.append(("nan_skipped", (
                f"Epoch {metrics.epoch}: skipped {metrics.skipped_steps} step(s) whose loss was not a finite number; "
                "training goes on. If this keeps happening, lower the learning rate."
            )))
        events = []
        for kind, message in found:
            last = self.last_warned.get(kind)
            if kind == "nan_skipped" or last is None or metrics.epoch - last >= self.repeat_every:
                self.last_warned[kind] = metrics.epoch
                events.append(WarningEvent(metrics.epoch, kind, message))
        return events

    def state_dict(self) -> dict:
        return {
            "best_val": self.best_val,
            "epochs_since_best": self.epochs_since_best,
            "last_warned": dict(self.last_warned),
        }

    def load_state_dict(self, state: dict) -> None:
        self.best_val = float(state.get("best_val", float("inf")))
        self.epochs_since_best = int(state.get("epochs_since_best", 0))
        self.last_warned = {str(k): int(v) for k, v in state.get("last_warned", {}).items()}
