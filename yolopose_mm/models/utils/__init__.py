from .decode import DecodedPose, Priors, decode_predictions, make_priors
from .nms import filter_and_nms
from .topk_select import TopKResult, topk_select

__all__ = ['DecodedPose', 'Priors', 'decode_predictions', 'make_priors', 'filter_and_nms', 'TopKResult',
           'topk_select']
