/// `modeldsl tokenizer CORPUS --vocab N --out DIR`: learns a byte-level BPE vocabulary for the
/// textCorpus task's `bpe` tokenizer (the tokenizer library encodes with a vocabulary but cannot learn one).
module ModelDsl.Cli.TokenizerCommand

open System.IO
open Spectre.Console
open ModelDsl.Runtime.Tokenizers

/// Returns the exit code: 0 when written, 1 with one error line when the corpus is missing or not UTF-8
/// text, the size is out of range, or the output cannot be written.
let execute (corpus: string) (vocabularySize: int) (out: string) =
    if not (File.Exists corpus) then
        Display.errorLine $"'{corpus}': no such file (the corpus to learn the vocabulary from)"
        1
    elif vocabularySize < 256 || vocabularySize > 1_000_000 then
        Display.errorLine $"--vocab {vocabularySize}: must lie in [256, 1000000] (the 256 byte tokens come first)"
        1
    else
        try
            let text = File.ReadAllText(corpus, System.Text.UTF8Encoding(false, true))
            let vocabulary = BpeTrainer.Train(text, vocabularySize)
            let struct (vocabularyFile, mergesFile) = vocabulary.Save out
            AnsiConsole.MarkupLine(
                $"{vocabulary.Tokens.Count} tokens ({vocabulary.Merges.Count} merges) → [link]{Display.escape vocabularyFile}[/], [link]{Display.escape mergesFile}[/]")
            if vocabulary.Tokens.Count < vocabularySize then
                AnsiConsole.MarkupLine($"[yellow]warning:[/] stopped at {vocabulary.Tokens.Count} tokens: no pair of tokens occurs twice in the corpus any more")
            0
        with
        | :? System.Text.DecoderFallbackException -> Display.errorLine $"'{corpus}' is not UTF-8 text"; 1
        | :? IOException as e -> Display.errorLine $"'{out}': {e.Message}"; 1
        | :? System.UnauthorizedAccessException as e -> Display.errorLine $"'{out}': {e.Message}"; 1
