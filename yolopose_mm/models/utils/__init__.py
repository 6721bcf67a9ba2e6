from .decode import DecodedPose, Priors, decode_predictions, make_priors
from .nms import filter_and_nms

__all__ = ['DecodedPose', 'Priors', 'decode_predictions', 'make_priors', 'filter_and_nms']
