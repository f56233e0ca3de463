using ModelDsl.Core;
using ModelDsl.Core.Tasks;
using ModelDsl.Runtime.Runs;

namespace ModelDsl.Runtime.Tests.Runs;

public class DataIdentityTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("modeldsl-data-identity-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static ExperimentSpec WithCorpus(string path) => new() { Task = new TextCorpus { Path = path, Length = 8 } };

    [Fact]
    public void The_same_corpus_at_two_paths_gives_one_key_and_other_text_another()
    {
        var here = Write("a/corpus.txt", "the cat sat on the mat\n");
        var there = Write("b/elsewhere.txt", "the cat sat on the mat\n");
        var other = Write("c/corpus.txt", "the cat sat on the hat\n");
        Assert.Equal(RunStore.KeyOf(WithCorpus(here)), RunStore.KeyOf(WithCorpus(there)));
        Assert.NotEqual(RunStore.KeyOf(WithCorpus(here)), RunStore.KeyOf(WithCorpus(other)));
    }

    [Fact]
    public void An_edited_corpus_gets_a_new_key()
    {
        var path = Write("corpus.txt", "first version\n");
        var before = RunStore.KeyOf(WithCorpus(path));
        File.WriteAllText(path, "second version, longer\n");
        Assert.NotEqual(before, RunStore.KeyOf(WithCorpus(path)));
    }

    [Fact]
    public void Paths_inside_a_mixture_and_tokenizer_files_are_named_by_content()
    {
        var text = Write("corpus.txt", "abc\n");
        var vocabulary = Write("vocab.json", "{\"a\":0}");
        var merges = Write("merges.txt", "a b\n");
        var task = new TaskMixture
        {
            Components = ValueList.Of(new MixtureComponent
            {
                Domain = "web",
                Task = new TextCorpus { Path = text, Tokenizer = TokenizerKind.Bpe, VocabularyFile = vocabulary, MergesFile = merges },
            }),
        };
        var named = Assert.IsType<TextCorpus>(Assert.IsType<TaskMixture>(DataIdentity.ContentAddressed(task)).Components[0].Task);
        Assert.All(new[] { named.Path, named.VocabularyFile!, named.MergesFile! }, p => Assert.StartsWith("sha256:", p));
        Assert.NotEqual(named.Path, named.VocabularyFile);
    }

    [Fact]
    public void A_path_that_names_no_file_is_kept_as_written()
    {
        var missing = Path.Combine(folder, "absent.txt");
        Assert.Equal(missing, DataIdentity.Of(missing));
        Assert.NotEqual(RunStore.KeyOf(WithCorpus(missing)), RunStore.KeyOf(WithCorpus(missing + "2")));
    }
}
