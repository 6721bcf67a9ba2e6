# Mixed model: mmpose's CSPNeXt backbone + CSPNeXtPAFPN neck (RTMDet/RTMO family) feeding OUR YOLO pose head,
# trained and evaluated on coco8-pose (YOLO format) with our recipe, dataset and evaluator.
# The only contract to line up is channels: with out_channels=None CSPNeXtPAFPN keeps its input widths per level
# (mmpose 1.3.2's out_channels=<int> path is broken: it overwrites its ModuleList of out convs with a single conv),
# so the head is told those widths (head.in_channels); a mismatch is reported by YOLOPoseHeadModule with both widths.
_base_ = ['../yolopose_n_coco8.py']

widen_factor = 0.25     # CSPNeXt stages P3/P4/P5 -> 64, 128, 256 channels
deepen_factor = 0.167
cspnext_channels = [64, 128, 256]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CSPNeXt',
        arch='P5',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        out_indices=(2, 3, 4),
        expand_ratio=0.5,
        channel_attention=True,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='SiLU', inplace=True)),
    neck=dict(
        _delete_=True,
        type='CSPNeXtPAFPN',
        in_channels=cspnext_channels,
        out_channels=None,
        num_csp_blocks=1,
        expand_ratio=0.5,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='SiLU', inplace=True)),
    head=dict(in_channels=cspnext_channels, featmap_strides=(8, 16, 32)))
