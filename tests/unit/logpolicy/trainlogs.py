"""Realistic training logs for the log-policy tests and the throughput benchmark.

Each style prints what its framework prints (format strings follow PyTorch's examples,
PyTorch Lightning's TQDMProgressBar and summary, Hugging Face Trainer, Keras 2/3 Progbar);
tqdm bars are rendered by the real tqdm. Lines come as (kind, text): kind is "progress",
"metric", "info", "warning" or "exception"; text may hold carriage returns and ANSI escapes
the way a captured stream does.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator

from tqdm import tqdm

from arenahub.core.metricline import format_metric_line

Line = tuple[str, str]


def tqdm_bar(total: int, desc: str = "", postfix: dict[str, object] | None = None, *, is_tty: bool = False, updates: int = 8) -> str:
    """The text real tqdm writes for one finished bar (``\\r``-separated redraws, one newline)."""
    out = io.StringIO()
    bar = tqdm(total=total, desc=desc or None, file=out, mininterval=0, ascii=not is_tty, postfix=postfix)
    step = max(1, total // updates)
    done = 0
    while done < total:
        n = min(step, total - done)
        bar.update(n)
        done += n
    bar.close()
    return out.getvalue().rstrip("\n")


def _loss(rng: random.Random, step: int) -> float:
    return 2.3 * (0.97 ** step) + rng.random() * 0.05


def pytorch_style(rng: random.Random, epochs: int = 3) -> Iterator[Line]:
    """The PyTorch MNIST/CIFAR/ImageNet examples plus the prints of a typical custom loop."""
    yield "info", "Using device: cuda"
    yield "info", "Net("
    yield "info", "  (conv1): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))"
    yield "info", "  (conv2): Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1))"
    yield "info", "  (dropout1): Dropout(p=0.25, inplace=False)"
    yield "info", "  (fc1): Linear(in_features=9216, out_features=128, bias=True)"
    yield "info", "  (fc2): Linear(in_features=128, out_features=10, bias=True)"
    yield "info", ")"
    yield "warning", ("/usr/local/lib/python3.11/site-packages/torch/utils/data/dataloader.py:558: UserWarning: This "
                      "DataLoader will create 8 worker processes in total. Our suggested max number of worker in "
                      "current system is 4, which is smaller than what this DataLoader is going to create.")
    yield "warning", "  warnings.warn(_create_warning_msg("
    step = 0
    for epoch in range(1, epochs + 1):
        for batch in range(0, 60000, 6400):
            step += 1
            pct = round(100 * batch / 60000)
            yield "metric", f"Train Epoch: {epoch} [{batch}/60000 ({pct}%)]\tLoss: {_loss(rng, step):.6f}"
        correct = 9800 + rng.randrange(150)
        yield "info", ""
        yield "metric", f"Test set: Average loss: {rng.random() * 0.05:.4f}, Accuracy: {correct}/10000 ({correct // 100}%)"
        yield "info", ""
        for i in range(2000, 12001, 2000):
            yield "metric", f"[{epoch}, {i:5d}] loss: {_loss(rng, step + i // 2000):.3f}"
        for s in range(100, 601, 100):
            yield "metric", f"Epoch [{epoch}/{epochs}], Step [{s}/600], Loss: {_loss(rng, s // 100):.4f}"
        for b in range(0, 500, 100):
            yield "metric", (f"Epoch: [{epoch - 1}][{b:3d}/500]\tTime  {rng.random():.3f} ({rng.random():.3f})\t"
                             f"Data  {rng.random() / 10:.3f} ({rng.random() / 10:.3f})\tLoss {_loss(rng, b):.4e} ({_loss(rng, b):.4e})\t"
                             f"Acc@1  {rng.random() * 100:5.2f} ({rng.random() * 100:5.2f})")
        yield "metric", f"epoch {epoch} step {step} loss={_loss(rng, step):.4f} acc={rng.random():.4f} lr={1e-3 * 0.9 ** epoch:.2e}"
        yield "progress", tqdm_bar(469, f"epoch {epoch}", {"loss": round(_loss(rng, step), 4)})
        yield "info", f"Saved checkpoint to /job/output/checkpoints/epoch_{epoch:03d}.pt"


def lightning_style(rng: random.Random, epochs: int = 3) -> Iterator[Line]:
    """PyTorch Lightning 2.x: start-up lines, model summary, TQDMProgressBar bars."""
    yield "info", "GPU available: True (cuda), used: True"
    yield "info", "TPU available: False, using: 0 TPU cores"
    yield "info", "HPU available: False, using: 0 HPUs"
    yield "info", "LOCAL_RANK: 0 - CUDA_VISIBLE_DEVICES: [0]"
    yield "info", ""
    yield "info", "  | Name    | Type             | Params | Mode "
    yield "info", "-----------------------------------------------------"
    yield "info", "0 | model   | Sequential       | 101 K  | train"
    yield "info", "1 | loss_fn | CrossEntropyLoss | 0      | train"
    yield "info", "-----------------------------------------------------"
    yield "info", "101 K     Trainable params"
    yield "info", "0         Non-trainable params"
    yield "info", "101 K     Total params"
    yield "info", "0.407     Total estimated model params size (MB)"
    yield "info", "5         Modules in train mode"
    yield "info", "0         Modules in eval mode"
    yield "progress", tqdm_bar(2, "Sanity Checking DataLoader 0", is_tty=True)
    for epoch in range(epochs):
        loss = round(_loss(rng, epoch * 10), 3)
        yield "progress", tqdm_bar(938, f"Epoch {epoch}", {"v_num": 0, "train_loss": loss}, is_tty=True)
        yield "progress", tqdm_bar(157, "Validation DataLoader 0", is_tty=True)
    yield "info", f"`Trainer.fit` stopped: `max_epochs={epochs}` reached."


def hf_trainer_style(rng: random.Random, epochs: int = 3) -> Iterator[Line]:
    """Hugging Face Trainer: warnings, the run banner, logged dicts, tqdm bars, checkpoints."""
    yield "warning", ("Some weights of DistilBertForSequenceClassification were not initialized from the model "
                      "checkpoint at distilbert-base-uncased and are newly initialized: ['classifier.bias', "
                      "'classifier.weight', 'pre_classifier.bias', 'pre_classifier.weight']")
    yield "warning", "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference."
    yield "progress", tqdm_bar(25000, "Map", updates=5)
    yield "info", "***** Running training *****"
    yield "info", "  Num examples = 25,000"
    yield "info", f"  Num Epochs = {epochs}"
    yield "info", "  Instantaneous batch size per device = 16"
    yield "info", "  Total train batch size (w. parallel, distributed & accumulation) = 16"
    yield "info", "  Gradient Accumulation steps = 1"
    yield "info", "  Total optimization steps = 4,689"
    yield "info", "  Number of trainable parameters = 66,955,010"
    for epoch in range(epochs):
        for k in range(3):
            step = epoch * 3 + k + 1
            yield "metric", (f"{{'loss': {_loss(rng, step):.4f}, 'grad_norm': {rng.random() * 5:.4f}, "
                             f"'learning_rate': {5e-5 * (1 - step / 10):.4e}, 'epoch': {step / 3:.2f}}}")
        yield "progress", tqdm_bar(1563, "", updates=6)
        yield "metric", (f"{{'eval_loss': {rng.random():.4f}, 'eval_accuracy': {0.9 + rng.random() / 20:.4f}, "
                         f"'eval_runtime': {10 + rng.random():.4f}, 'eval_samples_per_second': {2400 + rng.random() * 100:.3f}, "
                         f"'eval_steps_per_second': {150 + rng.random() * 10:.3f}, 'epoch': {epoch + 1:.1f}}}")
        yield "info", f"Saving model checkpoint to ./results/checkpoint-{(epoch + 1) * 1563}"
        yield "info", f"Configuration saved in ./results/checkpoint-{(epoch + 1) * 1563}/config.json"
        yield "info", f"Model weights saved in ./results/checkpoint-{(epoch + 1) * 1563}/model.safetensors"
    yield "metric", (f"{{'train_runtime': {300 + rng.random() * 50:.4f}, 'train_samples_per_second': {240 + rng.random():.3f}, "
                     f"'train_steps_per_second': {15 + rng.random():.3f}, 'train_loss': {rng.random():.4f}, 'epoch': {epochs:.1f}}}")


def keras_style(rng: random.Random, epochs: int = 3) -> Iterator[Line]:
    """Keras 3 Progbar on a terminal (redraws, ANSI colours) and Keras 2 verbose=1 and =2."""
    for epoch in range(1, epochs + 1):
        yield "progress", f"Epoch {epoch}/{epochs}"
        redraws = []
        for n in (1, 100, 400, 938):
            done = n * 20 // 938
            bar = f"\x1b[32m{'━' * done}\x1b[0m\x1b[37m{'━' * (20 - done)}\x1b[0m"
            timing = f"{rng.randrange(1, 9)}s {rng.randrange(2, 4)}ms/step" if n == 938 else f"{rng.randrange(1, 9)}s {rng.randrange(2, 4)}ms/step"
            redraws.append(f"\x1b[1m{n:>3}/938\x1b[0m {bar} \x1b[1m{timing}\x1b[0m - accuracy: {rng.random():.4f} - loss: {_loss(rng, n // 50):.4f}")
        yield "progress", "\r" + "\r".join(redraws)
    for epoch in range(1, epochs + 1):
        yield "progress", f"Epoch {epoch}/{epochs}"
        yield "progress", (f"1875/1875 [==============================] - {rng.randrange(2, 9)}s {rng.randrange(2, 5)}ms/step "
                           f"- loss: {_loss(rng, epoch):.4f} - accuracy: {rng.random():.4f} - val_loss: {rng.random():.4f} "
                           f"- val_accuracy: {rng.random():.4f}")
    for epoch in range(1, epochs + 1):
        yield "progress", f"Epoch {epoch}/{epochs}"
        yield "progress", (f"469/469 - {rng.randrange(2, 9)}s - loss: {_loss(rng, epoch):.4f} - accuracy: {rng.random():.4f} "
                           f"- {rng.randrange(2, 9)}s/epoch - {rng.randrange(2, 9)}ms/step")


def report_style(rng: random.Random, epochs: int = 3) -> Iterator[Line]:
    """arenahub.report() metric lines between ordinary prints."""
    yield "info", "Loading dataset from /data/train (read-only)"
    for step in range(0, epochs * 100, 10):
        yield "metric", format_metric_line(step, {"loss": _loss(rng, step // 10), "lr": 1e-3 * 0.99 ** step})
        if step % 50 == 0:
            yield "metric", format_metric_line(step, {"val/acc": rng.random(), "val/loss": rng.random()})
    yield "info", "Training finished."


def traceback_style(rng: random.Random, epochs: int = 1) -> Iterator[Line]:
    """A crash: a Python traceback through user and library frames."""
    yield "info", "Starting epoch 1"
    yield "exception", "Traceback (most recent call last):"
    yield "exception", '  File "/job/train.py", line 88, in <module>'
    yield "exception", "    main()"
    yield "exception", '  File "/job/train.py", line 61, in main'
    yield "exception", "    out = model(x)"
    yield "exception", "          ^^^^^^^^"
    yield "exception", '  File "/usr/local/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1511, in _wrapped_call_impl'
    yield "exception", "    return self._call_impl(*args, **kwargs)"
    yield "exception", f"RuntimeError: mat1 and mat2 shapes cannot be multiplied ({rng.choice([32, 64])}x784 and 128x10)"


STYLES: dict[str, Callable[[random.Random, int], Iterator[Line]]] = {
    "pytorch": pytorch_style,
    "lightning": lightning_style,
    "hf_trainer": hf_trainer_style,
    "keras": keras_style,
    "report": report_style,
    "traceback": traceback_style,
}


def training_log(seed: int, epochs: int = 3) -> list[Line]:
    """Every style once, in order: a few hundred lines."""
    rng = random.Random(seed)
    return [line for style in STYLES.values() for line in style(rng, epochs)]
