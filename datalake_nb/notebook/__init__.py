"""The notebook face: ``%lake`` magics, the LakePicker widget and the coverage timeline.

Exactly what the ``[notebook]`` extra installs (IPython, ipywidgets, matplotlib) is
needed here and nowhere else; ``import datalake_nb`` never imports this package.
"""
