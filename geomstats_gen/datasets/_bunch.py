"""The return value every image loader shares."""

from sklearn.utils import Bunch

__all__ = ["image_dataset"]


def image_dataset(images, target, target_names, description, return_X_y, **extra):
    """``(data, target)``, or a Bunch with ``data``, ``images``, ``target`` and more.

    Parameters
    ----------
    images : ndarray of float32, shape=[n, H, W]
    target : ndarray of int, shape=[n]
    target_names : sequence
    description : str
        The Bunch's ``DESCR``.
    return_X_y : bool
    **extra
        More fields of the Bunch (factors...).

    Returns
    -------
    dataset : Bunch, or (data [n, H W], target)
    """
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    return Bunch(data=data, images=images, target=target, target_names=target_names,
                 image_shape=tuple(int(s) for s in images.shape[1:]), DESCR=description,
                 **extra)
