// The generated corpus of the gated-attention study (examples/gated_attention.fsx) and its pilot
// (docs/studies/gated-attention/sink_pilot.fsx), in one place so that both train on the same text.
module GatedAttentionCorpus

open System.IO

/// A seeded English-like corpus: sentences from a small grammar (agreement, a relative clause,
/// numbers that are counted up), so that a byte-level model has short- and long-range structure.
let writeCorpus (path: string) (bytes: int) =
    let random = System.Random 7
    let pick (items: string[]) = items[random.Next items.Length]
    let nouns = [| "cat"; "dog"; "bird"; "child"; "farmer"; "teacher"; "river"; "garden"; "engine"; "letter" |]
    let verbs = [| "sees"; "likes"; "follows"; "finds"; "paints"; "carries"; "watches"; "remembers" |]
    let adjectives = [| "small"; "old"; "green"; "quiet"; "bright"; "heavy"; "strange"; "happy" |]
    let places = [| "in the park"; "near the house"; "by the sea"; "on the hill"; "under the bridge" |]
    let phrase () = if random.Next 2 = 0 then $"the {pick adjectives} {pick nouns}" else $"the {pick nouns}"
    let sentence () =
        match random.Next 4 with
        | 0 -> $"{phrase ()} {pick verbs} {phrase ()} {pick places}."
        | 1 -> $"{phrase ()} that {pick verbs} {phrase ()} {pick verbs} {phrase ()}."
        | 2 ->
            let start = random.Next 90
            let counted = String.concat ", " [ for i in start .. start + 3 -> string i ]
            $"{phrase ()} counts {counted}."
        | _ -> let noun = pick nouns in $"the {noun} and the {noun} {pick verbs} {phrase ()}."
    let text = System.Text.StringBuilder()
    while text.Length < bytes do
        let s = sentence ()
        text.Append(string (System.Char.ToUpperInvariant s[0])).Append(s.Substring 1).Append(if random.Next 6 = 0 then "\n" else " ") |> ignore
    File.WriteAllText(path, text.ToString())

/// A seeded bigram-with-back-copy text (after the Bigram-Backcopy task of the active-dormant-head analysis
/// of attention sinks): letters follow a fixed sparse bigram chain, except that after a trigger symbol
/// ('#', '@' or '%') the next letter repeats the letter before the trigger. Attention is needed only at
/// triggers (to fetch the letter two back); elsewhere the next letter depends on the current one alone,
/// so a head that copies is idle on most tokens: the situation in which LMs park attention on the first token.
let writeBackcopyCorpus (path: string) (bytes: int) =
    let random = System.Random 11
    let letters = "abcdefghijklmnopqrstuvwxyz"
    let triggers = "#@%"
    // Each letter has four successors, drawn once, with probabilities 0.4, 0.3, 0.2, 0.1.
    let successors = Array.init letters.Length (fun _ -> Array.init 4 (fun _ -> letters[random.Next letters.Length]))
    let weights = [| 0.4; 0.3; 0.2; 0.1 |]
    let next (c: char) =
        let u = random.NextDouble()
        let rec pick i acc = if i = 3 || u < acc + weights[i] then successors[letters.IndexOf c][i] else pick (i + 1) (acc + weights[i])
        pick 0 0.0
    let text = System.Text.StringBuilder()
    let mutable before = 'a'
    let mutable current = 'b'
    text.Append(before).Append(current) |> ignore
    while text.Length < bytes do
        if random.NextDouble() < 0.15 then
            // A trigger, then the letter before the trigger again.
            text.Append(triggers[random.Next triggers.Length]).Append(current) |> ignore
            before <- current
        else
            let c = next current
            text.Append c |> ignore
            before <- current
            current <- c
    File.WriteAllText(path, text.ToString())
