"""Sequential: layers applied one after the other, the output of each the input of the next."""

from collections import OrderedDict

from .module import Module


class Sequential(Module):
    """``Sequential(Dense(2, 16), ReLU(), Dense(16, 1))`` or ``Sequential(OrderedDict(...))``.

    Layers are named "0", "1", ... (or by the OrderedDict's keys), so state-dict keys are
    ``0.weight``, ``2.bias``, as in PyTorch. Indexable (``model[0]``, ``model[-1]``,
    ``model[1:]`` is a Sequential), with ``len`` and iteration over the layers.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def append(self, module):
        """Add a layer at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        if not -len(items) <= index < len(items):
            raise IndexError(f"Sequential: index {index} is out of range for {len(items)} layers")
        return items[index][1]
