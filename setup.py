# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Package setup for yolopose_mm. The OpenMMLab stack is installed by tools/install.sh (see README)."""
import os

from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, 'yolopose_mm', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='yolopose_mm',
    version=read_version(),
    description='YOLOv8-pose and YOLO11-pose as MMPose components (clean-room, Apache-2.0).',
    long_description=open('README.md', encoding='utf-8').read() if os.path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['yolopose_mm', 'yolopose_mm.*']),
    include_package_data=True,
    # The heavy stack (torch, mmcv with ops, mmdet, mmpose) needs a source build and flags that pip cannot
    # express; tools/install.sh installs it with exact pins from requirements/.
    install_requires=[],
    classifiers=[
        'License :: OSI Approved :: Apache Software License',
        'Programming Language :: Python :: 3',
    ],
)
