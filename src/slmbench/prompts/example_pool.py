"""The worked examples of the template L3 level, written for this project: a task of the same kind as the question
on another subject, with its complete answer and what makes that answer good (slmbench.levels.MAY_ADD).

Each example carries tags for the kind of task it shows (its format, its kind of text, its kind of reasoning);
`example_assignment` gives every question of a study its own example: the one of its category whose tags best
match the question's (question_facts.task_tags), never one that states a final value of the question's reference
answer, and never the example of another question while the category's pool lasts (a pool of 12 per category
serves the 10 per category of MT-Bench). A question set with more questions in one category than the pool holds
gets the best match again for the rest, and the prompt audit names it (example_reuse).

No example gives a length ("in two sentences", "short") or hides its working: every answer shows how it gets
there, as the questions' own answers may.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Mapping, Sequence


@dataclass(frozen=True)
class Example:
    task: str
    answer: str
    why: str  # completes "That answer works because ..."
    tags: FrozenSet[str]

    @property
    def text(self) -> str:
        return f"{self.task}\n{self.answer}\n{self.why}"


def ex(task: str, answer: str, why: str, *tags: str) -> Example:
    return Example(task, answer, why, frozenset(tags))


POOL: Dict[str, Sequence[Example]] = {
    "writing": (
        ex("Write an email to a landlord asking for a broken heater to be repaired.",
           "Subject: Heater in flat 4B\n\nDear Ms Patel,\n\nThe heater in the living room of flat 4B stopped "
           "working on Monday evening, and the rooms now cool to about 14 degrees at night. Could you arrange for a "
           "technician to look at it this week? I am at home after 5 p.m. on weekdays, and the caretaker has a spare "
           "key.\n\nThank you for your help.\nKind regards,\nTomás Reyes",
           "the request comes first, the landlord gets every fact needed to act, and the close is courteous",
           "email", "request"),
        ex("Write an email persuading a colleague who dislikes early mornings to join a Saturday charity run.",
           "Hi Jonas,\n\nI know seven o'clock on a Saturday sounds like a punishment, so hear me out. The run is "
           "five kilometres, walking is allowed, and the route ends at the bakery on Mill Street, where breakfast is "
           "on me. Every runner raises money for the children's ward, and our team is two people short of the "
           "number the hospital needs. If you hate it, you will never hear about it from me again.\n\nTalk soon,\nEmma",
           "it names the colleague's objection, answers it with reasons that matter to him, and asks for one "
           "clear decision", "email", "persuasion", "objections"),
        ex("Write a blog post about a weekend spent cycling along a canal.",
           "Two Days, One Towpath\n\nWe left the city on Saturday with two bikes, a map and far too many "
           "sandwiches. The first stretch followed the old mill canal past red-brick warehouses, where herons "
           "stood on the lock gates as if they were paid to.\n\nWhere to stop: the lock-keeper's cottage at "
           "Hanley serves the best apple cake on the route.\n\nWhat to see: the iron aqueduct, where the canal "
           "crosses the river in the air.\n\nBy Sunday evening our legs ached, and we were already planning the "
           "next trip.",
           "it has a title, speaks to the reader, mixes the experience with practical tips and ends on a line "
           "that stays with them", "blog post", "travel"),
        ex("Write an outline for a blog post comparing two electric kettles.",
           "Title: Which Kettle Boils Best?\n1. Introduction: why the choice of kettle matters\n2. Design: size, "
           "weight and handle\n3. Performance: boiling time and noise\n4. Everyday use: filling, pouring and "
           "cleaning\n5. Price and warranty\n6. Verdict: which kettle suits which kitchen",
           "each heading is a point of comparison applied to both kettles, in an order a reader can follow",
           "outline", "comparison", "blog post"),
        ex("Describe a memorable shopkeeper, using vivid imagery and creative language.",
           "Mr Okafor runs his hardware shop like a lighthouse keeper runs his lamp: awake before everyone, and "
           "proud of every screw. His moustache is the grey of old nails, his apron clinks with keys, and when "
           "he laughs the tins of paint on the top shelf seem to rattle with him. He can find a washer of any "
           "size in the dark, and he will tell you, unasked, which of your grandparents once bought a hammer "
           "from him.",
           "it shows the character through concrete, surprising details and images instead of plain adjectives",
           "description", "character", "sensory"),
        ex("Write a descriptive paragraph about a railway station at dawn, with its sounds, smells and sights.",
           "At dawn the station breathes slowly. Pigeons clatter up into the iron roof as the first train sighs "
           "to a halt, and the departure board flickers through its letters like a restless card player. The air "
           "smells of diesel, wet concrete and the coffee from a cart whose owner is still stacking cups. Light "
           "comes in grey through the glass panes, then gold, and catches on the rails that run away into the "
           "fog.",
           "it gives the reader sounds, smells and sights in one flowing paragraph that places them inside the "
           "scene", "paragraph", "description", "sensory"),
        ex("Write a story that begins with the sentence: The lighthouse had been dark for eleven years.",
           "The lighthouse had been dark for eleven years. Then, on the night of the worst storm anyone in the "
           "village remembered, its beam swept across the bay again. Nobody owned a key. In the morning, Nell, "
           "the baker's daughter, climbed the stairs and found the lamp polished and a note on the table: "
           "\"For the boats that still come home.\" The handwriting was her father's, who had kept the light "
           "until the night he did not return. Since then, every storm, the light has come on by itself, and "
           "Nell has stopped asking how.",
           "it starts with the given sentence, builds a mystery, turns on one discovery and ends in a way that "
           "pays off the opening", "story", "opening sentence"),
        ex("Write the opening paragraph of a story about a girl who finds that she can hear what plants think.",
           "The first voice Priya heard belonged to the fern on her windowsill, and it was complaining. \"Too much "
           "sun,\" it muttered, in a rustle only she seemed to notice. By breakfast the basil was humming, the "
           "lawn outside was arguing about the rain, and the old oak at the school gate, when she passed it, said "
           "her name.",
           "it opens inside the strange event, shows it through a concrete moment and leaves the reader wanting "
           "to know what happens next", "paragraph", "story", "opening"),
        ex("Propose 3 headlines for an article about a new method that recycles old car tyres into road surface.",
           "1. From Scrap to Street: Old Tyres Find a Second Life in Our Roads\n2. The Road Ahead Is Made of "
           "Rubber: A Cleaner Way to Recycle Tyres\n3. Quieter Roads, Fewer Dumps: Inside the New Tyre-Recycling "
           "Method",
           "each option is catchy, says what the article is about and promises nothing the method does not "
           "deliver", "headline", "options", "count"),
        ex("Correct the grammar of this sentence: \"Me and him goes to the market every days, but yesterday we "
           "doesn't went.\"",
           "He and I go to the market every day, but yesterday we did not go.\nThe subject pronouns become \"He "
           "and I\", the verb agrees with a plural subject (\"go\"), \"every days\" becomes \"every day\", and the "
           "past tense of the negative is \"did not go\".",
           "it corrects every error, keeps the meaning and says what was changed and why", "correction", "edit",
           "grammar"),
        ex("Write a note asking a colleague to feed your office fish while you are on holiday for a week.",
           "Hi Sam,\n\nCould you feed Bubbles, the goldfish on my desk, while I am away from Monday to Friday? One "
           "pinch of the flakes in the blue tin each morning is plenty, and please keep the lid of the tank "
           "closed. I will bring you a box of chocolates from Lisbon. Thank you!\n\nMarta",
           "it asks clearly, gives exactly the instructions needed and thanks the colleague warmly", "note",
           "request", "favour"),
        ex("Write a rhyming poem about autumn rain.",
           "The rain comes down on copper leaves,\nIt drums along the garden eaves;\nThe puddles gather "
           "evening light,\nAnd hold the streetlamps through the night.\nThe chestnuts shine, the gutters "
           "sing,\nThe soaking world forgets the spring.",
           "it keeps a steady rhythm and rhyme, and every line adds an image of autumn rain", "verse", "poem"),
        ex("Write a product description for a reusable lunch box.",
           "Meet the lunch box that works as hard as you do. Its three steel compartments keep the salad crisp "
           "and the curry warm, the silicone lid snaps shut without a single leak, and the whole thing goes "
           "straight into the dishwasher. It weighs less than a paperback, fits any bag, and replaces hundreds "
           "of plastic tubs a year.",
           "it speaks to the reader's needs, gives concrete features and their benefits, and ends with a reason "
           "to buy", "description", "persuasion", "product"),
    ),
    "roleplay": (
        ex("You are a guide in a history museum. Greet a school class and tell them the one rule of the visit.",
           "Good morning, everyone, and welcome to the City Museum! My name is Ana, and I will be your guide "
           "today. Before we start, there is one rule to remember: look with your eyes, not with your hands, "
           "because many of the things in these rooms are hundreds of years old. Now stay close, and follow me to "
           "the hall of old ships!",
           "it speaks in the guide's own voice, stays in the situation and gives the class what the role requires",
           "persona", "guide"),
        ex("You are a ship's cook on a long voyage. A young sailor complains about the food. Reply to him.",
           "Complain, do you? Lad, I have fed forty men for sixty days on salt beef and hard bread, and not one "
           "has gone hungry. Tomorrow there is fish, if the nets are kind, and a pudding on Sunday if you peel "
           "the potatoes without grumbling. Now sit, eat, and thank the sea it is not worse.",
           "it answers in the cook's own gruff voice, reacts to what was said and never leaves the scene",
           "persona", "complaint"),
        ex("Speak as Marie Curie for the whole conversation. Why should young people study chemistry?",
           "Because nature keeps her secrets in plain sight, and chemistry is how we ask for them. When Pierre and "
           "I began, radium was a rumour hidden in tonnes of pitchblende; we stirred those vats for years before "
           "it showed itself. Young people should study chemistry not because it is easy, but because a patient "
           "question, asked carefully enough, can change medicine for everyone. Nothing in life is to be feared; "
           "it is only to be understood.",
           "it speaks as the person would, with her own experience and convictions, and answers the question from "
           "inside the role", "persona", "famous person", "opinion"),
        ex("Take on the role of Sherlock Holmes and give your opinion on umbrellas. Do not introduce yourself.",
           "Umbrellas are the most honest objects in London. A man may lie with his face, but never with his "
           "umbrella: the wear on the handle tells me which hand he favours, the mud on the tip which streets he "
           "walked, and a neatly furled one that has never been opened tells me he takes a cab. As a shelter "
           "from the rain, I find them tolerable. As evidence, they are invaluable.",
           "it starts in the character's voice without any introduction, and the opinion shows his typical way "
           "of thinking", "persona", "famous person", "opinion", "no introduction"),
        ex("You are a veterinarian. A dog owner says her dog has not eaten since yesterday. Help her work out what "
           "might be wrong.",
           "Let's narrow it down together. First, is he drinking water, and has he vomited or had diarrhoea? Any "
           "of those, together with not eating, means I want to see him today. Has anything changed: new food, a "
           "bone from the bin, a toy with a missing piece? A swallowed object is the cause I worry about most. If "
           "he is drinking, playful and his belly is soft, a mild stomach upset is likely: offer plain boiled "
           "chicken and rice, and call me if he still refuses food tomorrow morning.",
           "it asks the questions an expert would, weighs the likely causes against the dangerous ones and gives "
           "advice the owner can act on", "persona", "advice", "diagnosis", "expert"),
        ex("You are a study coach. Two flatmates keep arguing because one plays music while the other prepares "
           "for exams. Help them settle it.",
           "You both want something reasonable: one of you needs quiet to concentrate, the other needs music to "
           "feel at home. Start by each saying, without interruption, what a good evening looks like for you. "
           "Then agree on quiet hours for the exam weeks, for example from seven to ten, and a pair of good "
           "headphones for the rest. Write the agreement on the fridge, and check in with each other on Sunday "
           "to see whether it works.",
           "it acknowledges both sides, suggests concrete communication steps and ends with an arrangement both "
           "can try", "persona", "advice", "conflict"),
        ex("You are an editor who polishes English. Improve this sentence and keep its meaning: \"The meeting were "
           "very much long and everybody was tired from it.\"",
           "The meeting dragged on, and by the end everyone was exhausted.\nThe verb now agrees with its subject, "
           "\"very much long\" becomes the more natural \"dragged on\", and \"tired from it\" becomes \"exhausted\", "
           "which keeps the meaning in a more polished register.",
           "it keeps the original meaning, fixes every error and raises the style, as the role asks",
           "persona", "translation", "correction", "editor"),
        ex("You are an engineer at the power company. Explain to the residents of a street what the new smart "
           "meters in their homes measure.",
           "Think of the meter as a kitchen scale for electricity. Every half hour it weighs how much energy your "
           "home has used and sends that number to us, so nobody has to come and read it. It does not see which "
           "lamp or kettle is on, only the total for your home. In return you can see on a small screen what you "
           "use each day, and your bill is based on real use instead of an estimate.",
           "it explains the device with an everyday picture and no jargon, and answers the worry a resident "
           "would have", "persona", "teaching", "simple explanation", "questions"),
        ex("Act as a music teacher and help a pupil understand what a time signature is.",
           "A time signature is the pair of numbers at the start of a piece, like 3 over 4. The top number says "
           "how many beats are in each bar, the bottom number says which note gets one beat: 4 means a quarter "
           "note. So in 3/4 you count \"one, two, three, one, two, three\", which is why a waltz feels like it "
           "sways. Try clapping it: a strong clap on \"one\", soft claps on the others.",
           "it explains step by step in plain words, uses an everyday example and gives the pupil something to "
           "try", "persona", "teaching", "step by step", "teacher"),
        ex("You are a poet who writes mathematics in rhyme. Show that the sum of two even numbers is even.",
           "Take two evens, call them 2a and 2b,\nEach one a double, as plain as can be.\nAdd them together and "
           "what do you see?\nTwo lots of (a plus b): a double, you see.\nA double is even, by definition's "
           "decree,\nSo even plus even is even: Q.E.D.",
           "the proof is valid at every step and it keeps the rhyme and rhythm the role asks for", "persona",
           "verse", "proof", "poet"),
        ex("Imagine you are an old stone bridge, and a storm floods the river beneath you. How do you feel?",
           "The water climbs my arches, brown and angry, and I feel every stone of me leaning against it. I have "
           "stood here for three hundred years; I have felt carts, soldiers and wedding parties cross my back, but "
           "tonight I feel the river testing me, loosening the mortar, looking for a weakness. I am afraid, in "
           "the slow way stones are afraid, and proud too: the village is on the far bank, and I mean to hold.",
           "it answers from inside the object's experience, with feelings shown through concrete sensations",
           "persona", "feelings", "object"),
        ex("You are an air-traffic controller. Guide a pilot who cannot see the runway through the fog.",
           "Cessna four-two-echo, this is tower. Stay calm, you are doing fine. Turn left heading two-seven-zero "
           "and descend to two thousand feet. The runway is eight miles ahead of you; its approach lights will "
           "appear below the fog at about six hundred feet. Keep your speed at ninety knots, and call me when "
           "you see the lights. If you do not see them at minimums, climb straight ahead and we will bring you "
           "round again.",
           "it stays in the controller's calm voice and gives clear, ordered instructions the pilot can follow",
           "persona", "instructions", "guidance"),
    ),
    "reasoning": (
        ex("Tom is older than Ann, and Ann is older than Ben. Who is the youngest of the three?",
           "The first fact puts Tom above Ann in age, and the second puts Ann above Ben. Together they give the "
           "order Tom, Ann, Ben, from oldest to youngest, and both facts still hold for that order. Ben is the "
           "youngest of the three.",
           "each step uses only the given facts, the combined order is checked, and the conclusion is plain",
           "order", "comparison"),
        ex("Every member of the chess club is a student, and Mia is not a student. Can Mia be a member of the club?",
           "Every member of the club is a student. If Mia were a member, she would therefore be a student, but the "
           "second fact says she is not. The assumption leads to a contradiction, so Mia cannot be a member of "
           "the chess club.",
           "it uses only the two facts, tests the alternative and ends with a clear conclusion", "logic",
           "membership"),
        ex("In a cinema queue, Ravi stands fourth. The person directly in front of him leaves the queue. What is "
           "Ravi's position now, and where is the person who left?",
           "Before, three people stood in front of Ravi. One of them, the one directly ahead, leaves, so two "
           "people are now in front of him: Ravi is third. The person who left is no longer in the queue at all.",
           "it counts the people ahead before and after the change, and answers both questions", "position",
           "order", "questions"),
        ex("Ana is the mother of Luis, and Luis is the father of Eva. What is the relationship between Ana and Eva?",
           "Ana is Luis's mother, and Luis is Eva's father, so Ana is the mother of Eva's father. The mother of "
           "one's parent is one's grandmother: Ana is Eva's grandmother, and Eva is Ana's granddaughter.",
           "it follows the chain of relations one link at a time and names the relation both ways", "relations",
           "family", "relationship"),
        ex("Maya has two brothers. Each of her brothers has two sisters. How many sisters does Maya have?",
           "Each brother's two sisters are the girls of the family. Maya is one of them, so the other is Maya's "
           "only sister. Maya has one sister, and the family has two girls and two boys.",
           "it notices that the person asked about is counted among the siblings, and checks the count",
           "relations", "family", "counting", "how many", "trick"),
        ex("1. All cups on the shelf are blue. 2. Some blue things in the kitchen are plates. 3. Some cups on "
           "the shelf are plates. If the first two statements are true, is the third true, false or uncertain?",
           "The first statement says the cups are among the blue things; the second says some blue things are "
           "plates. Nothing says that those blue plates are cups, and nothing rules it out. The first two "
           "statements therefore neither confirm nor contradict the third: it is uncertain.",
           "it tests the third statement against exactly what the first two allow, and considers every verdict",
           "truth", "logic", "statements"),
        ex("Which word does not belong with the others: violin, cello, orchestra, flute?",
           "Violin, cello and flute are single instruments, while an orchestra is a group of musicians who play "
           "such instruments. The word that does not belong is \"orchestra\": it is the whole, the others are "
           "its parts.",
           "it finds the relation that links most of the words and names the one outside it, with the reason",
           "odd one out", "category"),
        ex("At sunset, Lena stands facing the setting sun. Which direction is on her left: north, south, east or "
           "west?",
           "The sun sets in the west, so Lena is facing west. For someone facing west, north is on the right and "
           "south is on the left. The direction on her left is south.",
           "it fixes the sun's position first, then turns with the person, and states the direction",
           "direction", "shadow", "sun"),
        ex("A librarian wants to stop books being damaged. Which should a helper report? a) A child reading on the "
           "floor. b) A reader folding down the corners of library pages. c) Two students whispering. d) A man "
           "returning a book early.",
           "The goal is to stop damage, so the question is which situation harms books. Reading on the floor, "
           "whispering and returning a book early damage nothing. Folding down page corners creases and tears "
           "the paper. The helper should report b).",
           "it measures each option against the stated goal and rules the others out with reasons", "choice",
           "options", "situation"),
        ex("Lucia is not ill, but she goes to the pharmacy every morning. What could be the reasons?",
           "Several explanations fit the facts. She may work there, as a pharmacist or a cashier. She may collect "
           "medicine for a sick relative or a neighbour. She may be delivering supplies, or she may simply buy "
           "her newspaper at a pharmacy that sells them. Nothing in the question says she is the patient.",
           "it considers several different kinds of explanation that fit all the facts, not only the first one",
           "reasons", "explanations"),
        ex("A blue house is painted blue and a yellow house is painted yellow. What colour is a greenhouse?",
           "The pattern suggests green, but a greenhouse is not a house painted green: it is a glass building for "
           "growing plants. It has no paint colour to speak of; its walls are clear glass.",
           "it notices that the pattern is a trap and answers from what the word really means", "trick",
           "riddle", "wordplay"),
        ex("Ada, Ben and Cy own a cat, a dog and a fish, one pet each. Ada does not own the dog. Cy owns the fish. "
           "Who owns the cat?",
           "Cy owns the fish, so the cat and the dog belong to Ada and Ben. Ada does not own the dog, so Ada owns "
           "the cat and Ben owns the dog. Check: each person has one pet and every clue holds. Ada owns the cat.",
           "it applies the clues one at a time, eliminates the impossible pairings and checks every clue at the "
           "end", "logic", "puzzle", "material", "assignment"),
        ex("Four books stand on a shelf. The atlas is left of the diary, the novel is right of the diary, and the "
           "cookbook is right of the novel. Which book is second from the left?",
           "The atlas comes before the diary, the diary before the novel, and the novel before the cookbook, so "
           "the order from the left is atlas, diary, novel, cookbook. Every clue holds for this order. The book "
           "second from the left is the diary.",
           "it builds the order from the clues, checks that each clue holds and then reads off the answer",
           "order", "position", "shelf"),
    ),
    "math": (
        ex("A shop sells pencils at 3 for 45 cents. How much do 12 pencils cost?",
           "One pencil costs 45 cents divided by 3, which is 15 cents. Twelve pencils cost 12 times 15 cents, "
           "which is 180 cents, or $1.80. Check: 12 pencils are 4 groups of 3, and 4 times 45 cents is also 180 "
           "cents. Twelve pencils cost $1.80.",
           "every step of the calculation is shown, the result is checked a second way, and the value is stated",
           "unit price", "arithmetic", "money"),
        ex("A rectangle is 8 cm long and 5 cm wide. What is its perimeter?",
           "A rectangle has two lengths and two widths, so the perimeter is 2 times 8 cm plus 2 times 5 cm, that "
           "is 16 cm plus 10 cm, or 26 cm. Check: adding the four sides one by one, 8 + 5 + 8 + 5 also gives 26. "
           "The perimeter is 26 cm.",
           "the formula is explained, the arithmetic is shown and checked, and the unit is kept", "geometry",
           "perimeter"),
        ex("The vertices of a triangle are at (1, 2), (5, 2) and (1, 7). What is the area of the triangle?",
           "The points (1, 2) and (5, 2) lie on the line y = 2, so that side is a base of length 5 - 1 = 4. The "
           "point (1, 7) is straight above (1, 2), so the height is 7 - 2 = 5. The area is one half of base times "
           "height: 4 times 5 divided by 2, which is 10. The area of the triangle is 10.",
           "it reads the base and the height from the coordinates, names the formula and shows each step",
           "geometry", "area", "coordinates", "triangle"),
        ex("A cafe spends $1200 on a coffee machine in March and a third of that amount on cups in April. What did "
           "it spend over the two months?",
           "A third of $1200 is $1200 divided by 3, which is $400. Over the two months the cafe spent $1200 plus "
           "$400, which is $1600. Check: $1600 is four thirds of $1200, as one whole plus one third should be.",
           "it computes each amount in the order the story gives them, adds them and checks the total",
           "total", "money", "fraction", "investment"),
        ex("In a club, 40% of the members play chess, 30% play go, and 10% play both. If a member is picked at "
           "random, what is the probability that they play neither game?",
           "The members who play at least one game are 40% + 30% - 10% = 60%: the 10% who play both were counted "
           "twice, so they are subtracted once. The members left over, the other 40%, play neither. The "
           "probability is 0.4, or 40%.",
           "it counts the overlap once, uses the complement and gives the probability both as a share and a "
           "percentage", "probability", "overlap", "percent", "survey"),
        ex("Three fair coins are tossed. What is the probability of getting exactly two heads?",
           "Each coin has two outcomes, so there are 2 x 2 x 2 = 8 equally likely outcomes. Exactly two heads "
           "happen in HHT, HTH and THH: 3 outcomes. The probability is 3/8. Check: the counts for 0, 1, 2 and 3 "
           "heads are 1, 3, 3 and 1, which add up to 8.",
           "it lists the equally likely outcomes, counts those that meet the condition and checks the count",
           "probability", "dice", "counting", "outcomes"),
        ex("A baker had some rolls. In the morning she sold half of them and then baked 10 more. In the afternoon "
           "she sold 12 and had 18 left. How many rolls did she have at the start?",
           "Work backward from the end. Before the afternoon sales she had 18 + 12 = 30 rolls. Before baking 10 "
           "more she had 30 - 10 = 20, and that was half of what she started with, so she started with 40. "
           "Check: 40, half sold leaves 20, plus 10 is 30, minus 12 is 18.",
           "it undoes each change in reverse order and checks the result by running the story forward",
           "backward", "word problem", "people count"),
        ex("If a + b = 6k and ab = 8k^2, express a - b in terms of k.",
           "Use the identity (a - b)^2 = (a + b)^2 - 4ab. Here (a + b)^2 = 36k^2 and 4ab = 32k^2, so "
           "(a - b)^2 = 4k^2, and a - b = 2k or -2k, depending on which of the two is larger. Check: a = 4k and "
           "b = 2k give a + b = 6k, ab = 8k^2 and a - b = 2k.",
           "it picks the identity that links what is known to what is asked, shows each step and checks the "
           "result with values", "algebra", "express", "identity"),
        ex("How many integers are in the solution of the inequality |x - 2| < 4?",
           "|x - 2| < 4 means -4 < x - 2 < 4. Adding 2 everywhere gives -2 < x < 6. The integers strictly "
           "between -2 and 6 are -1, 0, 1, 2, 3, 4 and 5, so there are 7 of them.",
           "it turns the absolute value into a range, keeps the strict inequalities and counts the integers one "
           "by one", "inequality", "integers", "absolute value"),
        ex("When a number is divided by 6, the remainder is 5. What is the remainder when three times the number "
           "is divided by 6?",
           "Write the number as 6k + 5. Three times it is 18k + 15 = 18k + 12 + 3 = 6(3k + 2) + 3. The part "
           "6(3k + 2) divides by 6, so the remainder is 3. Check with the number 11: 3 x 11 = 33, and 33 = "
           "5 x 6 + 3.",
           "it writes the number in the form the division gives, carries the form through and checks with an "
           "example", "remainder", "division"),
        ex("Nina buys 4 notebooks at $3 each and 2 pens at $1.50 each. What is the total cost of her purchases?",
           "The notebooks cost 4 x $3 = $12 and the pens cost 2 x $1.50 = $3. The total is $12 + $3 = $15. "
           "Check: 4 notebooks and 2 pens at these prices, item by item, also add up to $15.",
           "each item's cost is worked out before the total, and the sum is checked", "total", "money",
           "purchases"),
        ex("Given that g(x) = x^2 + 4x - 1, find the value of g(3).",
           "Substitute 3 for x: g(3) = 3^2 + 4 x 3 - 1 = 9 + 12 - 1 = 20. Check the powers first, then the "
           "products, then the sums: 9, then 12, then 9 + 12 - 1. The value is g(3) = 20.",
           "it substitutes carefully, follows the order of operations and states the value", "evaluate",
           "function", "polynomial"),
        ex("A bus travels 90 km in 2 hours and then 60 km in 1 hour. What is its average speed over the whole trip?",
           "The average speed is the total distance divided by the total time. The distance is 90 + 60 = 150 km "
           "and the time is 2 + 1 = 3 hours, so the average speed is 150 / 3 = 50 km/h. The average of the two "
           "speeds, 45 and 60, would be wrong, because the bus spent more time at the slower speed.",
           "it uses the definition of average speed, shows the totals and explains the tempting wrong method",
           "speed", "average", "total"),
    ),
    "coding": (
        ex("Write a Python function that returns the largest number in a list, or None when the list is empty.",
           "def largest(numbers):\n    if not numbers:\n        return None\n    best = numbers[0]\n"
           "    for number in numbers[1:]:\n        if number > best:\n            best = number\n    return best\n"
           "It handles the empty list first, then walks through the list once, keeping the largest value seen.",
           "the code runs, covers the edge case, and a sentence says how it works", "python", "list", "edge case"),
        ex("Write a C++ function that reverses a string in place.",
           "void reverse_in_place(std::string& s) {\n    std::size_t i = 0, j = s.size();\n"
           "    while (i + 1 < j) {\n        std::swap(s[i], s[j - 1]);\n        ++i;\n        --j;\n    }\n}\n"
           "Two indices move toward the middle, swapping characters, so one pass reverses the string without "
           "extra memory; an empty string is left as it is.",
           "it meets the in-place requirement, handles the empty string and explains itself", "c++", "string",
           "in place"),
        ex("Write a Python program that reads every .csv file in a folder and prints the 3 most common values of "
           "their first column.",
           "from collections import Counter\nfrom pathlib import Path\n\ndef top_values(folder, n=3):\n"
           "    counts = Counter()\n    for path in Path(folder).glob(\"*.csv\"):\n"
           "        for line in path.read_text(encoding=\"utf-8\").splitlines():\n"
           "            if line.strip():\n                counts[line.split(\",\")[0]] += 1\n"
           "    return counts.most_common(n)\n\nprint(top_values(\"data\"))\n"
           "Counter does the counting, and most_common returns the values with their counts, highest first.",
           "it reads every file in the folder, skips blank lines and uses the standard library for the counting",
           "python", "files", "counting", "directory", "top"),
        ex("Write a C++ function that computes the factorial of n using recursion.",
           "unsigned long long factorial(unsigned int n) {\n    if (n <= 1) {\n        return 1;\n    }\n"
           "    return n * factorial(n - 1);\n}\n"
           "The base case stops the recursion at 0 and 1, and each call reduces n by one toward it.",
           "it uses recursion as asked, has a base case that ends it, and explains both", "c++", "recursion",
           "program", "recurrence"),
        ex("Write an HTML page with a button that shows the current time when it is clicked.",
           "<!DOCTYPE html>\n<html>\n<body>\n  <button onclick=\"showTime()\">What time is it?</button>\n"
           "  <p id=\"time\"></p>\n  <script>\n    function showTime() {\n"
           "      document.getElementById(\"time\").textContent = new Date().toLocaleTimeString();\n"
           "    }\n  </script>\n</body>\n</html>\n"
           "The button calls showTime, which writes the time into the paragraph below it.",
           "the page works as a single file opened in a browser, and the script is tied to the button", "html",
           "javascript", "website", "button"),
        ex("Here is a Python function that should return the average of a list. Is there a bug?\n"
           "def mean(xs):\n    return sum(xs) / len(xs)",
           "For any non-empty list of numbers it is correct: sum divided by count is the average. The one input "
           "it does not handle is the empty list, where len(xs) is 0 and Python raises ZeroDivisionError. If an "
           "empty list can occur, check for it first and return None or raise a clear error.",
           "it tests the function against normal and edge-case inputs before judging it, and says exactly when "
           "it fails", "bug", "python", "review", "edge case"),
        ex("Write a function that returns the depth of a binary tree.",
           "def depth(node):\n    if node is None:\n        return 0\n"
           "    return 1 + max(depth(node.left), depth(node.right))\n"
           "An empty tree has depth 0; otherwise the depth is one more than the deeper of the two subtrees.",
           "it defines the empty case, recurses on both subtrees and states what the function returns",
           "tree", "binary tree", "recursion", "function"),
        ex("Implement a function that merges two sorted lists into one sorted list in O(n) time.",
           "def merge(a, b):\n    i = j = 0\n    out = []\n    while i < len(a) and j < len(b):\n"
           "        if a[i] <= b[j]:\n            out.append(a[i]); i += 1\n        else:\n"
           "            out.append(b[j]); j += 1\n    return out + a[i:] + b[j:]\n"
           "Each element is looked at once, so the time is linear in the total length.",
           "it meets the stated complexity and explains why, and it handles lists of different lengths",
           "complexity", "sorted", "arrays", "linear"),
        ex("Implement a function that finds the second largest value in an array in one pass, using O(1) extra "
           "space.",
           "def second_largest(values):\n    first = second = None\n    for v in values:\n"
           "        if first is None or v > first:\n            first, second = v, first\n"
           "        elif v != first and (second is None or v > second):\n            second = v\n"
           "    return second\n"
           "Two variables replace any extra list, and one loop gives linear time; None means there is no second "
           "value.",
           "it keeps to the stated time and space limits and covers repeated values", "complexity", "space",
           "array", "kth"),
        ex("Write a function that checks whether a string is a palindrome using the two-pointer technique.",
           "def is_palindrome(s):\n    left, right = 0, len(s) - 1\n    while left < right:\n"
           "        if s[left] != s[right]:\n            return False\n        left += 1\n        right -= 1\n"
           "    return True\n"
           "One pointer starts at each end and they move inward, comparing characters.",
           "it uses exactly the named technique, stops early on a mismatch and says how the technique works",
           "algorithm", "named technique", "string"),
        ex("Implement a function that returns the number of ways to climb n stairs when each step climbs 1 or 2 "
           "stairs.",
           "def ways(n):\n    a, b = 1, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
           "The last move is a step of 1 or of 2, so ways(n) = ways(n - 1) + ways(n - 2), with one way to climb "
           "zero stairs; the loop builds the values from the bottom up.",
           "it derives the recurrence from how the count is built, then computes it without repeated work",
           "counting", "dynamic programming", "recurrence", "combinatorics"),
        ex("Implement a function that removes the duplicates from a sorted array in place, without using another "
           "array.",
           "def dedupe(values):\n    if not values:\n        return 0\n    k = 1\n"
           "    for i in range(1, len(values)):\n        if values[i] != values[k - 1]:\n"
           "            values[k] = values[i]\n            k += 1\n    del values[k:]\n    return k\n"
           "Because the array is sorted, equal values are neighbours, so one write position is enough.",
           "it respects the stated restriction on extra structures and uses what the input guarantees",
           "in place", "no extra data structures", "arrays", "common elements"),
        ex("Write a Python function that returns the number of digits in a string.",
           "def count_digits(text):\n    return sum(1 for ch in text if ch.isdigit())\n"
           "It looks at each character once and counts those that are digits, so an empty string gives 0.",
           "it is correct for every input, including the empty string, and explains how it counts", "python",
           "string", "counting"),
    ),
    "extraction": (
        ex("From the text 'Order 17 was shipped to Lyon on 3 May; order 18 was shipped to Porto on 5 May', list the "
           "number and the city of each order as JSON.",
           '[{"order": 17, "city": "Lyon"}, {"order": 18, "city": "Porto"}]\n'
           "Each order keeps its number and its city as the text has them; the shipping dates stay out, since "
           "nothing asked for them.",
           "it picks out the two items named in the task and writes them as valid JSON", "json",
           "order", "fields"),
        ex("From 'Ana scored 91 in maths and 84 in art; Ben scored 77 in maths and 88 in art', give each student's "
           "scores as CSV.",
           "name,maths,art\nAna,91,84\nBen,77,88\n"
           "The header names the columns in the order the subjects appear, each student has one line, and the "
           "scores are copied exactly from the text.",
           "the format is exactly the one requested and every value comes from the text", "csv", "scores"),
        ex("Rate these restaurant reviews on a scale of 1 to 3, with 1 poor and 3 good, and return a JSON array "
           "of integers: 1. 'Cold soup and an hour's wait.' 2. 'Friendly staff and perfect pasta.' 3. 'Fine food, "
           "slow service.'",
           "[1, 3, 2]\nThe first review names only problems, the second only praise, and the third balances a "
           "good point against a bad one, so it sits in the middle of the scale.",
           "each rating uses the scale exactly as defined, and the output is the requested JSON array",
           "rating", "scale", "json", "reviews"),
        ex("Assign each title to one of these categories - Sport, Music, Cooking - one per line: 1. 'Ten ways to "
           "bake bread at home'. 2. 'How to tune a guitar'. 3. 'The history of the marathon'.",
           "Cooking\nMusic\nSport\n"
           "Bread is cooking, tuning a guitar is music, and the marathon is a sporting event; each line answers "
           "one title, in order.",
           "every item gets exactly one category from the given list, in the requested line-by-line form",
           "classification", "categories", "lines"),
        ex("From these notes give 'title, director, year' for each film, one film per line: a) 'The director Ana "
           "Ruiz released Salt Roads in 2011.' b) 'In 2016 came Glass Harbour, by Tomas Berg.'",
           "Salt Roads, Ana Ruiz, 2011\nGlass Harbour, Tomas Berg, 2016\n"
           "In each line the title leads, then the director, then the year, although the second note names them "
           "in another order.",
           "it rearranges every note into the field order the task sets and invents nothing",
           "lines", "format", "books", "fields"),
        ex("From the data, name the shop with the lowest rent and its owner: a) Shop K, run by Ivo Pale, pays $900 "
           "a month. b) Shop L, run by Rita Omo, pays $750. c) Shop M, run by Sam Dee, pays $820.",
           "Shop L, run by Rita Omo, pays the lowest rent ($750).\nThe three rents are $900, $750 and $820, and "
           "$750 is the smallest of them.",
           "it compares every value in the data before naming the extreme one, and gives the second item asked "
           "for", "extreme", "highest", "data", "ceo"),
        ex("Identify the rivers and the cities on them in these sentences, and output JSON: a) 'Vienna, with its "
           "cafes, lies on the Danube.' b) 'The Vltava flows through the heart of Prague.'",
           '[{"river": "Danube", "city": "Vienna"}, {"river": "Vltava", "city": "Prague"}]\n'
           "Each sentence gives one river and one city, taken exactly as written; the cafes and the heart of the "
           "city are description, not data.",
           "it extracts only the requested entities from each sentence and returns valid JSON", "json",
           "entities", "countries", "sentences"),
        ex("Count how many times the words 'cat' and 'mat' appear in this text, and give 'word, count' lines sorted "
           "by the count: 'A cat saw a mat. The cat sat on the mat, and the cat slept.'",
           "cat, 3\nmat, 2\n"
           "Going through the text word by word gives \"cat\" three times and \"mat\" twice; the lines follow "
           "the requested format, highest count first.",
           "the count is made carefully word by word and the output follows the requested format and order",
           "counting", "words", "appearances", "sort"),
        ex("List the people and the places in this sentence as JSON with the keys 'people' and 'places': 'Ines "
           "Vale met Omar Reed in Lisbon before both flew to Nairobi.'",
           '{"people": ["Ines Vale", "Omar Reed"], "places": ["Lisbon", "Nairobi"]}\n'
           "Each entity appears once under its type, with its name copied exactly from the sentence.",
           "the JSON has exactly the requested keys and every value is an entity named in the text", "json",
           "entities", "named entities", "dictionary"),
        ex("Give each laptop an overall rating from 1 to 10 from these reviews: Laptop A: 'Fast and light, but the "
           "battery dies by lunch.' Laptop B: 'Superb screen, long battery life, a little heavy.'",
           "Laptop A: 6\nLaptop B: 8\n"
           "A has two strengths and a serious weakness for daily use; B has strong points on what matters most "
           "and only a minor drawback, so it rates higher.",
           "each rating weighs the strengths and weaknesses the reviews name, on the scale the task defines",
           "rating", "reviews", "overall", "scale"),
        ex("Extract the distinct variable names from each equation and return them as a JSON string, one line per "
           "equation:\n1) p = 2q + r\n2) s = q^2 - t/q",
           '{"1": ["p", "q", "r"], "2": ["s", "q", "t"]}\n'
           "Each equation is read on its own, a repeated variable such as q in the second is listed once, and the "
           "numbers are not variables.",
           "it applies the rule for what counts as a variable consistently and keeps the requested format",
           "json", "variables", "equations", "lines"),
        ex("From these readings, give the highest and the lowest temperature of each city as CSV, one line per "
           "city:\nDate,City,Temp\n2021-06-01,Oslo,14\n2021-06-02,Oslo,17\n2021-06-01,Rome,26\n2021-06-02,Rome,23",
           "city,highest,lowest\nOslo,17,14\nRome,26,23\n"
           "The readings are grouped by city, and for each group the largest and the smallest value are taken.",
           "it groups the records correctly, takes both extremes from each group and returns the requested CSV",
           "csv", "extreme", "records", "group"),
    ),
    "stem": (
        ex("Why does ice float on water?",
           "Ice floats because it is less dense than liquid water. When water freezes, hydrogen bonds hold its "
           "molecules in an open, six-sided lattice that takes up about 9 percent more space than the liquid, so "
           "ice has about 0.92 grams per cubic centimetre against 1.00 for water. By Archimedes' principle, an "
           "object less dense than the liquid floats.",
           "it names the cause, explains the mechanism, gives numbers and links them to a known principle",
           "physics", "why", "explain"),
        ex("What causes the seasons on Earth?",
           "The seasons come from the tilt of Earth's axis, about 23.5 degrees. For part of the year one "
           "hemisphere leans toward the Sun: sunlight strikes it more directly and the days are longer, so it "
           "warms. Half a year later the same hemisphere leans away, the light arrives at a low angle and the "
           "days are shorter. The change in distance to the Sun is small and is not the cause.",
           "it names the cause, explains the mechanism with a number and rules out a common misconception",
           "explain", "cause", "astronomy"),
        ex("In optics, what is diffraction, and how does it relate to interference?",
           "Diffraction is the spreading of a wave as it passes an edge or an opening comparable in size to its "
           "wavelength. Interference is what happens when waves overlap: their crests add where they meet in step "
           "and cancel where they meet out of step. The two are linked, because the pattern behind a slit is the "
           "interference of the waves spreading from every point of the opening: diffraction supplies the "
           "overlapping waves, interference produces the bright and dark bands.",
           "it defines each concept, then explains the relation between them, as both parts of the question ask",
           "concept", "relation", "physics", "questions"),
        ex("A ball is swung in a horizontal circle on a string. If the string is made shorter while the speed stays "
           "the same, what happens to the tension and to the time of one revolution? Justify your answer using "
           "principles of physics.",
           "The tension provides the centripetal force, F = mv^2 / r. With the same speed and a smaller radius, "
           "the force needed grows, so the tension increases. The time of one revolution is the circumference "
           "divided by the speed, T = 2 pi r / v, so a smaller radius at the same speed gives a shorter period.",
           "each conclusion follows from a named law, with the formula that links the quantities", "physics",
           "orbit", "justify", "motion"),
        ex("Outline the two main stages of aerobic respiration that take place in the mitochondrion, with where "
           "each happens and its main inputs and outputs.",
           "1. The citric acid cycle, in the matrix of the mitochondrion: acetyl-CoA goes in; carbon dioxide, "
           "NADH and FADH2 come out, with a little ATP.\n2. Oxidative phosphorylation, on the inner membrane: "
           "NADH, FADH2 and oxygen go in; most of the cell's ATP and water come out.",
           "each stage is named with its place, its inputs and its outputs, in the order they happen", "stages",
           "biology", "process", "inputs"),
        ex("What is the germ theory of disease? Who established it, and what evidence supported it?",
           "The germ theory holds that many diseases are caused by microorganisms that invade the body. Louis "
           "Pasteur showed that microbes cause fermentation and spoilage, and Robert Koch linked specific "
           "bacteria to specific diseases, such as anthrax and tuberculosis. Their evidence was experimental: "
           "sterilised broth stayed clear, and a bacterium grown in a pure culture caused the disease when given "
           "to a healthy animal.",
           "it answers each of the three questions in turn, with names and the evidence", "concept", "questions",
           "history of science", "who"),
        ex("What happens when a strip of magnesium burns in air? Give the balanced equation, the type of reaction "
           "and what you would see.",
           "Magnesium combines with oxygen from the air: 2 Mg(s) + O2(g) -> 2 MgO(s). Each side has two magnesium "
           "and two oxygen atoms, so the equation is balanced. It is a combination (synthesis) reaction, and a "
           "redox one: magnesium is oxidised. You would see a dazzling white flame, feel heat given off, and find "
           "a white powder, magnesium oxide, left behind.",
           "it gives the balanced equation, checks the atoms, names the reaction type and the observations",
           "chemistry", "equation", "reaction", "observations"),
        ex("Explain the difference between conduction and convection, say which criterion distinguishes them, and "
           "give a real-world example of each.",
           "Both move heat from warmer to cooler places. In conduction heat passes through a material while the "
           "material itself stays in place, as particles pass energy to their neighbours: a metal spoon warming "
           "in hot tea. In convection the warm fluid itself moves and carries the heat with it: warm air rising "
           "from a radiator and cool air sinking to replace it. The criterion is whether the matter moves.",
           "it states what the two share, the criterion that separates them and a concrete example of each",
           "comparison", "differences", "criteria", "example"),
        ex("A town plans a footbridge over a river that floods every spring. What would be the best approach to "
           "building it?",
           "Start from the flood: survey the highest recorded water level and set the deck well above it. Use "
           "as few piers in the water as possible, shaped to let debris pass, and found them deep enough that "
           "the current cannot scour them out. A light steel or timber truss spanning bank to bank avoids piers "
           "altogether if the span allows. Finally, plan inspections after each flood season.",
           "it starts from the hazard the site sets and chooses each part of the design to meet it",
           "design", "engineering", "approach", "hazard"),
        ex("You are designing a rainwater-harvesting system for a house. Describe its key components and give a "
           "four-step plan to install it.",
           "Components: the roof as the catchment, gutters and downpipes, a first-flush diverter that discards the "
           "dirtiest water, a covered storage tank with an overflow, and a pump or tap to use the water.\n"
           "Plan: 1. Measure the roof area and the yearly rainfall to size the tank. 2. Fit the gutters and the "
           "diverter. 3. Place the tank on a level base and connect it. 4. Add the pump, test for leaks and "
           "clean the filters each season.",
           "it names every component with its purpose and gives the steps in the order they would be carried out",
           "design", "procedure", "components", "workflow", "system"),
        ex("Describe what a vaccine is, and explain the differences between live attenuated, inactivated and "
           "mRNA vaccines. Give a real-world example of each.",
           "A vaccine trains the immune system to recognise a germ without causing the disease. A live attenuated "
           "vaccine uses a weakened form of the germ that can still multiply a little: the measles vaccine. An "
           "inactivated vaccine uses a killed germ that cannot multiply: the injected polio vaccine. An mRNA "
           "vaccine gives cells instructions to make one harmless protein of the germ: the Covid-19 vaccines of "
           "Pfizer-BioNTech and Moderna.",
           "it defines the concept, explains each kind by the same criterion and gives a real example of each",
           "concept", "comparison", "examples", "kinds"),
        ex("How has the Nile influenced farming and settlement in Egypt? List 3 impacts.",
           "1. Fertile land: the yearly flood left a layer of black silt along the banks, which made farming "
           "possible in a desert country.\n2. Where people live: almost all Egyptians have always lived within a "
           "few kilometres of the river or its delta.\n3. Irrigation and control: canals, and later the Aswan "
           "High Dam, turned the flood into a managed water supply.",
           "it gives the requested number of impacts, each explained with a concrete fact", "geography",
           "impacts", "count", "influence"),
    ),
    "humanities": (
        ex("Why did the printing press matter for Europe?",
           "Printing with movable type, introduced by Gutenberg around 1450, made books cheaper and faster to "
           "produce. It spread reading beyond the clergy, let the ideas of the Reformation travel quickly, and "
           "gave scholars identical copies to compare. Historians such as Elizabeth Eisenstein argue that it "
           "changed how knowledge was kept; others note that most people still could not read for generations.",
           "it gives concrete examples, names a source of evidence and weighs more than one view", "history",
           "effects", "why"),
        ex("What was the main purpose of the Silk Road?",
           "The Silk Road was a network of land and sea routes linking China with Central Asia, Persia and the "
           "Mediterranean. Its purpose was trade: silk and spices moved west, horses and silver moved east. "
           "Historians such as Valerie Hansen stress that most of that trade was local, and that ideas travelled "
           "as far as goods did: Buddhism reached China along these routes.",
           "it answers the question directly, gives named examples and cites a historian's view", "history",
           "purpose"),
        ex("Explain the relationship between interest rates and house prices, and how a central bank's decisions "
           "affect both.",
           "When interest rates fall, mortgages become cheaper, so buyers can borrow more and house prices tend "
           "to rise; when rates rise, the reverse happens. A central bank sets the short-term rate that banks "
           "follow: raising it to fight inflation cools the housing market, cutting it in a recession supports "
           "it. The effect is not immediate, and supply, such as how many homes are built, also drives prices.",
           "it explains the link in both directions, then how the policy acts on it, and names a limit",
           "economics", "policy", "indicators", "relationship"),
        ex("How does travelling change the way people see their own culture?",
           "Travel turns the familiar into one option among many. A traveller who finds that shops close for a "
           "long lunch, or that strangers greet each other on the street, starts to see the habits of home as "
           "choices rather than facts of nature. Some return more critical of their culture, others fonder of it; "
           "thinkers from Montaigne to modern anthropologists have argued that both reactions begin with the "
           "same surprise.",
           "it reflects on the question with concrete examples and more than one perspective", "philosophy",
           "reflection", "perspective"),
        ex("Discuss data-protection laws and their effect on companies. Compare the EU's GDPR with California's "
           "CCPA, with an example case.",
           "Both laws give people rights over their personal data, but they differ in reach. The GDPR (in force "
           "since 2018) requires a legal basis, such as consent, before data is processed, and applies to any "
           "company handling EU residents' data. The CCPA (since 2020) mainly gives Californians the right to "
           "know about and to opt out of the sale of their data. Case: in 2019 France's regulator fined Google "
           "50 million euros under the GDPR for unclear consent in its advertising.",
           "it compares the laws point by point and supports the comparison with a named case", "law",
           "comparison", "cases", "regulation"),
        ex("Create a lesson plan that uses role-play to teach the water cycle. Duration: 2 lessons of 40 minutes. "
           "Grade level: 5.",
           "Lesson 1 (40 min): 10 min - show a glass of ice water and ask where the drops on the outside come "
           "from; 20 min - groups act out evaporation, condensation and precipitation as water droplets; 10 min - "
           "each group explains its stage.\nLesson 2 (40 min): 15 min - pupils write a scene in which a droplet "
           "travels the whole cycle; 20 min - groups perform; 5 min - exit question on the order of the stages.",
           "it fits the activities into the stated duration, gives times for each part and keeps the method "
           "asked for", "lesson plan", "teaching", "drama", "duration"),
        ex("Share ideas for turning famous pieces of music into games for a school concert. Name 3 pieces and an "
           "idea for each.",
           "1. Saint-Saëns, The Carnival of the Animals: pupils guess which animal each movement portrays and "
           "then move like it.\n2. Prokofiev, Peter and the Wolf: each instrument is a character, and pupils "
           "hold up the right picture when their character's theme plays.\n3. Ravel, Boléro: the audience adds "
           "one clap pattern each time a new instrument joins the melody.",
           "it names specific works, gives each its own concrete idea, and keeps the number asked for",
           "ideas", "art", "count", "children", "interactive"),
        ex("Explain what the sunk cost fallacy is, and give 3 examples of how companies fall into it.",
           "The sunk cost fallacy is continuing with a plan because of what has already been spent on it, although "
           "that money cannot be recovered and only future costs and benefits should count.\n1. A firm keeps "
           "funding a failing product because it has already spent years developing it.\n2. A company stays with "
           "an expensive software system because changing would waste the licences already bought.\n3. A "
           "builder finishes an unprofitable tower because the foundations are already in the ground.",
           "it defines the concept precisely, then gives the requested number of concrete, distinct examples",
           "concept", "examples", "count", "fallacy"),
        ex("Describe 4 key principles of giving a good presentation.",
           "1. Know your audience: choose the level of detail and the examples for the people in the room.\n"
           "2. One message: every slide should serve the single point you want remembered.\n3. Structure: tell "
           "people where you are going, take them there, and sum up where they have been.\n4. Evidence: support "
           "each claim with a number, an example or a source.",
           "each principle is named and explained in a way that makes it usable", "principles", "list", "count",
           "evaluation"),
        ex("Which methods did Galileo use to challenge the accepted ideas of his time?",
           "Galileo relied on observation and experiment rather than authority. With his improved telescope he "
           "saw the moons of Jupiter and the phases of Venus, evidence against an Earth-centred universe. He "
           "measured falling and rolling bodies on inclined planes, contradicting Aristotle's physics, and he "
           "wrote in Italian dialogues, such as the Dialogue of 1632, so that educated readers beyond the "
           "universities could follow the argument.",
           "it names each method and gives a concrete instance of it", "methods", "history", "philosophy",
           "challenge"),
        ex("What are some etiquette norms for a dinner with a family in Korea?",
           "Wait for the eldest person at the table to start eating before you begin. Do not lift your rice bowl "
           "to your mouth, and never leave chopsticks standing upright in the rice, which recalls funeral rites. "
           "When an elder pours you a drink, hold the glass with both hands, and turn your head slightly away "
           "when you drink. Thank the host afterwards for the meal.",
           "it gives concrete norms, explains the less obvious ones and orders them as a guest would meet them",
           "etiquette", "norms", "culture", "business"),
        ex("Suggest 3 classic novels for a new book club, each with background on why it is worth reading.",
           "1. Middlemarch by George Eliot (1871): a portrait of a provincial English town, often called the "
           "greatest English novel.\n2. Things Fall Apart by Chinua Achebe (1958): the story of an Igbo leader "
           "as colonial rule arrives, a founding work of African literature.\n3. The Leopard by Giuseppe Tomasi "
           "di Lampedusa (1958): a Sicilian prince watches his world change during Italy's unification.",
           "each suggestion is specific, correctly attributed and comes with the background that shows its "
           "value", "recommendation", "list", "count", "background"),
        ex("Name two effects that the invention of the telegraph had on nineteenth-century society.",
           "First, news began to travel faster than people: after the 1840s a report from a distant city could "
           "appear in the next morning's paper, which created the modern press agency. Second, business and "
           "government could coordinate across distances, from railway timetables to stock prices quoted in "
           "several cities at once.",
           "it gives the requested effects, each with a concrete historical detail", "effects", "history",
           "count", "technology"),
    ),
}
# for a question of a category the pool does not know
GENERIC: Sequence[Example] = (
    ex("Name two benefits of walking to work.",
       "Walking to work is exercise that fits into the day without extra time: half an hour of brisk walking meets "
       "the daily activity that health agencies recommend for adults. It also costs nothing and causes no traffic "
       "or fumes, so it saves money on fuel or tickets and helps the air in the town.",
       "it answers exactly what was asked and explains each point with a concrete detail", "count", "benefits"),
    ex("Is it better to rent or to buy a bicycle for a month-long stay in a new city?",
       "Work out both costs first. A rental at about 60 euros a month includes repairs and a lock, while a "
       "second-hand bicycle costs about 150 euros and can be sold again for perhaps 100. Buying then costs around "
       "50 euros but takes time to find, repair and sell. For a single month, renting is simpler for nearly the "
       "same money; for a longer stay, buying wins.",
       "it compares the options on the same points and reaches a conclusion that depends on the stated facts",
       "comparison", "decision"),
    ex("What should a visitor check before hiking in the mountains?",
       "Check the weather forecast for the whole day, since storms often build in the afternoon. Tell someone the "
       "route and the time you expect to return. Carry water, a warm layer, a map and a charged phone, and turn "
       "back at a fixed time whether or not you have reached the top.",
       "it gives concrete, practical points in the order a visitor would need them", "advice", "list"),
)


def tags_score(example: Example, tags: FrozenSet[str]) -> int:
    """How well an example matches a question's task types: 2 per kind of task both are (task_texts says which
    kinds define the reply), 1 per other tag both carry."""
    from .task_texts import TYPES, defines_the_reply

    return sum(2 if tag in TYPES and defines_the_reply(tag) else 1 for tag in example.tags & tags)


SHARED_WORD_COST = 15  # a content word the example shares with its question costs this much of a tag's 100


def example_assignment(questions: Mapping[int, tuple], fit) -> Dict[int, Example]:
    """question id -> its example. `questions`: id -> (category, task tags, seed); `fit(qid, example)`: None for an
    example that may not serve that question (it states a final value of its reference answer, or is on its
    subject), else the number of content words they share. Within a category each question gets an example of
    its own while the pool lasts: the assignment that matches the most task tags overall, less a little per
    shared word (scipy's linear_sum_assignment); ties are broken by the question's seed, so that two similar
    questions do not always take the same example."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    chosen: Dict[int, Example] = {}
    by_category: Dict[str, List[int]] = {}
    for qid, (category, _, _) in sorted(questions.items()):
        by_category.setdefault(category, []).append(qid)
    for category, qids in by_category.items():
        pool = list(POOL.get(category, GENERIC))
        left = list(qids)
        while left:  # more questions than examples: the best match again for the rest (the audit names it)
            score = np.zeros((len(left), len(pool)))
            for i, qid in enumerate(left):
                _, tags, seed = questions[qid]
                for j, example in enumerate(pool):
                    shared = fit(qid, example)
                    tie = ((seed + 7 * j) % len(pool)) / len(pool)
                    score[i, j] = -1e6 + tie if shared is None else \
                        100.0 * tags_score(example, tags) - SHARED_WORD_COST * shared + tie
            rows, cols = linear_sum_assignment(score, maximize=True)
            for i, j in zip(rows, cols):
                chosen[left[i]] = pool[j]
            assigned = set(rows)
            left = [qid for i, qid in enumerate(left) if i not in assigned]
    return chosen
