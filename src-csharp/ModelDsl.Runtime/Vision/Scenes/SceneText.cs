namespace ModelDsl.Runtime.Vision;

/// <summary>A prompt and its response as tokens (the response ends with &lt;eos&gt;).</summary>
public sealed record PromptResponse(long[] Prompt, long[] Response)
{
    /// <summary>The whole sequence: prompt then response.</summary>
    public long[] Sequence => [.. Prompt, .. Response];
}

/// <summary>The templates that turn a <see cref="Scene"/> into a caption and question/answer pairs.</summary>
public static class SceneText
{
    /// <summary>"&lt;bos&gt; describe :" — the caption prompt.</summary>
    public static long[] CaptionPrompt => SceneVocabulary.Encode("<bos> describe :");

    /// <summary>The caption words: "{count} {size} {color} {shape} at {position}".</summary>
    public static string CaptionWords(Scene scene) =>
        $"{SceneVocabulary.CountWord(scene.Count)} {SceneVocabulary.Word(scene.Size)} {SceneVocabulary.Word(scene.Color)} " +
        $"{SceneVocabulary.Word(scene.Shape)} at {SceneVocabulary.Word(scene.Position)}";

    public static PromptResponse Caption(Scene scene) => new(CaptionPrompt, SceneVocabulary.Encode(CaptionWords(scene) + " <eos>"));

    /// <summary>Five questions, one per attribute, each answered by one word.</summary>
    public static IReadOnlyList<PromptResponse> Questions(Scene scene) =>
    [
        Question("what color ?", SceneVocabulary.Word(scene.Color)),
        Question("what shape ?", SceneVocabulary.Word(scene.Shape)),
        Question("what size ?", SceneVocabulary.Word(scene.Size)),
        Question("where ?", SceneVocabulary.Word(scene.Position)),
        Question("how many ?", SceneVocabulary.CountWord(scene.Count)),
    ];

    private static PromptResponse Question(string question, string answer) =>
        new(SceneVocabulary.Encode("<bos> " + question), SceneVocabulary.Encode(answer + " <eos>"));
}
