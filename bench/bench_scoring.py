"""Per-token scoring speed (`evaluate.token_scores`: log-probability and rank of every token) for each course model, against
the model's own held-out loss (`evaluate`, no ranks) on the same text, same run.

Usage: python bench/bench_scoring.py [--chars 5000] [--runs 3]
The text is held-out IMDb rating-1 reviews joined to `--chars` characters (through the course's data resolver). Models
saved by the lessons' real runs are used when they are in the course cache; otherwise a fresh model of the same shape (the
speed does not depend on the weights). Prints milliseconds per 1,000 characters and the ratio to `evaluate`. Not a test.
"""
import argparse, os, statistics, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
from textgen_course.corpus import course_reviews
from textgen_course.data import models_dir
from textgen_course.modelfiles import weights_file
from textgen_course.evaluate import token_scores, CharNGram
from textgen_course.textgenrnn import TextGenRNN
from textgen_course.charrnn import CharRNN
from textgen_course.gpt import GPT

def best_of(f, runs:int) -> float:
    "Median seconds of `runs` calls, after one warm-up call (tracing)."
    f()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)

def models(train):
    "The course's models: from the cache when the lessons saved them, else same-shape stand-ins."
    saved = lambda name: weights_file(models_dir()/name).exists()
    out = {'textgenrnn (pretrained)': TextGenRNN()}
    out['char-RNN GRU-512' + (' (lesson 02)' if saved('shakespeare_char') else ' (untrained)')] = (
        CharRNN.load(models_dir()/'shakespeare_char') if saved('shakespeare_char') else CharRNN.new(train, cell='gru', units=512))
    if saved('imdb_words'): out['word LSTM-256 (lesson 02)'] = CharRNN.load(models_dir()/'imdb_words')
    gpt = GPT.load(models_dir()/'imdb_gpt') if saved('imdb_gpt') else GPT.new(train)
    c = gpt.config
    out[f"GPT {c['n_layer']}x{c['n_embd']}, context {c['seq_len']}" + (' (lesson 07)' if saved('imdb_gpt') else ' (untrained)')] = gpt
    out['6-gram (Kneser-Ney)'] = CharNGram(6).fit(train)
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--chars', type=int, default=5000)
    ap.add_argument('--runs', type=int, default=3)
    a = ap.parse_args()
    train, valid = course_reviews(1)
    text = ' '.join(valid)[:a.chars]
    print(f'{len(text):,} characters of held-out reviews; load {os.getloadavg()[0]:.2f}')
    print(f"{'model':<34}{'token_scores':>16}{'evaluate':>14}{'ratio':>8}   (ms per 1,000 characters, median of {a.runs})")
    for name, m in models(train).items():
        scores = best_of(lambda: token_scores(m, text), a.runs)
        loss = best_of(lambda: m.evaluate([text]), a.runs)
        per_k = lambda s: s / len(text) * 1000 * 1000
        print(f'{name:<34}{per_k(scores):>13.1f} ms{per_k(loss):>11.1f} ms{scores / loss:>7.2f}x')
    print(f'load {os.getloadavg()[0]:.2f}')

if __name__ == '__main__': main()
