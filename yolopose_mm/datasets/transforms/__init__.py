from .letterbox import LetterBox, letterbox_params

__all__ = ['LetterBox', 'letterbox_params']
