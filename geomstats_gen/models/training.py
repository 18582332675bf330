"""The training loop of the models: Adam over shuffled near-equal mini-batches."""

import math

import torch

__all__ = ["train_epochs"]


def train_epochs(net, data, loss_fn, *, epochs, batch_size, learning_rate, generator, desc=None):
    """Train ``net`` with Adam; returns the mean loss per sample of each epoch.

    Parameters
    ----------
    net : torch.nn.Module
    data : torch.Tensor, shape=[n, D]
        On the device of ``net``.
    loss_fn : callable
        ``loss_fn(batch) -> scalar tensor``, the mean loss of a batch.
    epochs : int
    batch_size : int
        Largest batch: each epoch splits the shuffled data into
        ``ceil(n / batch_size)`` batches of near-equal sizes, at least 2
        samples each.
    learning_rate : float
    generator : torch.Generator
        CPU generator of the shuffles.
    desc : str, optional
        Label of a tqdm progress bar over the epochs (with the running
        loss); None for no bar.

    Returns
    -------
    history : list of float

    Raises
    ------
    ValueError
        If the loss becomes non-finite.
    """
    n_samples = data.shape[0]
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    n_batches = max(1, min(math.ceil(n_samples / batch_size), n_samples // 2))
    bar = None
    epoch_range = range(epochs)
    if desc is not None:
        from tqdm.auto import tqdm

        bar = epoch_range = tqdm(epoch_range, desc=desc, unit="epoch")
    history = []
    net.train().requires_grad_(True)
    try:
        for epoch in epoch_range:
            perm = torch.randperm(n_samples, generator=generator).to(data.device)
            total = 0.0
            for idx in torch.tensor_split(perm, n_batches):
                loss = loss_fn(data[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            mean_loss = total / n_samples
            if not math.isfinite(mean_loss):
                raise ValueError(
                    f"The training loss became non-finite at epoch {epoch + 1}; "
                    f"lower `learning_rate` (now {learning_rate})."
                )
            history.append(mean_loss)
            if bar is not None:
                bar.set_postfix(loss=f"{mean_loss:.4g}")
    finally:
        optimizer.zero_grad(set_to_none=True)  # no gradients left on the fitted weights
        if bar is not None:
            bar.close()
    return history
